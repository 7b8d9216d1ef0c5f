"""The built-in drum kit: synthesis (:mod:`kit`), the voice mixer an audio callback runs
(:mod:`mixer`), offline rendering to WAV (:mod:`render`) and live output through JACK or the
system's audio device (:mod:`live`, :mod:`jack_audio`, :mod:`device`)."""
