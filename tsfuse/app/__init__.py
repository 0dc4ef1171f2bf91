"""What users run: the command line, the HTML report and its charts."""
