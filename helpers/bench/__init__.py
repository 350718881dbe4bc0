"""`make bench`: the frame (`framework`), one module of rows per Part, and `__main__`, which lists
the rows in table order."""
