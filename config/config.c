/* config.c — being written; see its header. */
