/* rules.c — being written; see its header. */
