"""Text stage: decode, validate and clean what a citizen typed; tokenize the model's copy; masking."""

from triage.text.intake import accept_text, clean_text, decode_text, has_chinese, normalize_text, prepare_text
from triage.text.masking import mask_pii, mask_text
from triage.text.places import PlaceExtractor, Places
from triage.text.tokenizer import tokenize, tokenize_many

__all__ = [
    "PlaceExtractor",
    "Places",
    "accept_text",
    "clean_text",
    "decode_text",
    "has_chinese",
    "mask_pii",
    "mask_text",
    "normalize_text",
    "prepare_text",
    "tokenize",
    "tokenize_many",
]
