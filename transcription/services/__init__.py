"""Writes for the transcription app, by concern: `jobs` (lifecycle, what the web process calls),
`runs` (a worker's run of a job), `transcripts` (segments and words with language tags) and
`live` (saving live sessions). Import the module you need: this package imports none of them,
so the web process never pulls in the worker's code.
"""
