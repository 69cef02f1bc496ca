/* page.c — being written; see its header. */
