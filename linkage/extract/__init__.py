"""Research extracts: a request file in, a minimised, disclosure-checked, documented and verifiable folder out."""
