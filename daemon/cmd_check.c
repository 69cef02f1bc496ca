/* cmd_check.c — being written; see its header. */
