"""Media in, audio out: any audio or video file -> 16 kHz mono float32 (:mod:`.decode`),
where the speech is (:mod:`.voice`), and the windows each model gets (:mod:`.windows`)."""

# The rate every model here takes, and so the rate of every array the app passes around.
SAMPLE_RATE = 16_000

# The file endings taken as audio or video: a folder's media files, and the only endings a kept copy of an
# input may have (anything else is kept as .bin, so a file named page.html is never served as a page).
MEDIA_EXTENSIONS = {".wav", ".mp3", ".m4a", ".aac", ".flac", ".ogg", ".oga", ".opus", ".wma", ".aiff", ".aif",
                    ".mp4", ".m4v", ".mov", ".mkv", ".webm", ".avi", ".wmv", ".mpg", ".mpeg", ".3gp", ".amr"}
