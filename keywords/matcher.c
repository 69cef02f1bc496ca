/* matcher.c — being written; see its header. */
