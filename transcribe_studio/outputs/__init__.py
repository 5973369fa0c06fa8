"""What a transcript becomes: files in every format (:mod:`.writers`, one writer per format behind
``get_writer``) and the History, an entry per finished file (:mod:`.history`)."""
