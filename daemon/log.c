/* log.c — being written; see its header. */
