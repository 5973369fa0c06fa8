"""Media in, audio out: any audio or video file -> 16 kHz mono float32 (:mod:`.decode`),
where the speech is (:mod:`.voice`), and the windows each model gets (:mod:`.windows`)."""

# The rate every model here takes, and so the rate of every array the app passes around.
SAMPLE_RATE = 16_000
