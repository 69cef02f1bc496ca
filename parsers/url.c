/* url.c — being written; see its header. */
