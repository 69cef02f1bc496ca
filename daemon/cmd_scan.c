/* cmd_scan.c — being written; see its header. */
