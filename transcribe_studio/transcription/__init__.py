"""The transcription itself: 16 kHz audio and a model from the cache in, a :class:`.transcript.Transcript` out.

* :mod:`.engine`: one recording, cut into the windows its model takes, heard
  stretch by stretch (:class:`..models.spec.Heard`), with the job's options.
* :mod:`.merge`: the stretches joined into one transcript, each word kept once
  where windows overlap.
* :mod:`.timings` and :mod:`.align`: word times for a model that gives none,
  from another model's pass over the same windows.
* :mod:`.speakers`: who spoke, laid onto the words and segments.
* :mod:`.batch`: many files and folders, each saved the moment it finishes.
* :mod:`.transcript`: the transcript type every model's output becomes.
"""
