"""Table-driven unit tests of the pure core: one line of input and expected output a case."""
