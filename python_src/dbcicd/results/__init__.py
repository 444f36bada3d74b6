"""What a run produced, for people and pipelines: result files, test cases, JUnit, the summary, output variables."""
