"""Text: tokens and the tokenizer, CoNLL files, tag schemes and the entities they
encode, conlleval scoring, word features and vocabularies, pretrained vectors."""
