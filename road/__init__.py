"""road: distil, export and serve small multi-task ELECTRA students for QA and NLI."""

__version__ = "0.1.0"
