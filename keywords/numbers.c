/* numbers.c — being written; see its header. */
