/* analyze.c — being written; see its header. */
