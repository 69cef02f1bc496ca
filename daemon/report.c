/* report.c — being written; see its header. */
