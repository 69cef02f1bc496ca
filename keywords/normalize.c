/* normalize.c — being written; see its header. */
