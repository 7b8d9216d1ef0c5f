"""The built-in drum kit: synthesis (:mod:`kit`), the voice mixer an audio callback runs
(:mod:`mixer`), offline rendering to WAV (:mod:`render`) and live output through JACK or the
system's audio device (:mod:`live`, :mod:`kit_process`, :mod:`device`), with the kit of an SF2
soundfont in its place where one is chosen (:mod:`soundfont`)."""
