"""Machine-translation engines behind `casework.translation.TranslationEngine`: argos-translate
packages run directly on CTranslate2 (`argos`), and Debian's Apertium (`apertium`)."""
