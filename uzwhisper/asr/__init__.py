"""The ASR core, free of Django: the Whisper engine (the only importer of faster_whisper), the
script guards, the live commit policy, and the one definition of the sample rate, the languages
and the language modes. Apps, scripts and pages take these from here."""
