"""Studies: what the library's pieces show when put together, one module per question.

Each study is a set of tested library functions behind an example script
(``examples/<name>.py``) and, where it reproduces a published statement, a ``validate`` row.

* :mod:`.smoothing` — SGD as gradient descent on a noise-smoothed loss (Kleinberg, Li & Yuan
  2018).
"""
