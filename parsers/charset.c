/* charset.c — being written; see its header. */
