"""Analyses over explored executions: reclaim cost (Q5); graphs and encodings belong here too."""
