"""The operator's side of the processing server: the program as a file, imports, the books,
scheduled jobs and the command lines that run them (``till processing program …``,
``members …``, ``catalog import``, ``stores``/``tills``, ``audit``, ``report``,
``conflicts``, ``jobs run``).

Every rule stays in the loyalty core and the server's domain modules; this package reads
files, writes rows in bulk and prints.
"""
