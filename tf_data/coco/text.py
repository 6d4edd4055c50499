"""Caption tokenisation: an image's caption words (rules in `tf_data.coco`)."""

import re

_WORD = re.compile("[a-z]+")


def tokenise(text):
    """Splits a caption into lowercase words (see the `tf_data.coco` docstring).

    Args:
        text: a caption (`str`, or UTF-8 `bytes` as TFDS yields them).

    Returns:
        Tuple of words: maximal runs of a-z after lowercasing, in order.

    Example:
        >>> tokenise("A man's T-shirt, 2 dogs!")
        ('a', 'man', 's', 't', 'shirt', 'dogs')
    """
    if isinstance(text, bytes):
        text = text.decode("utf-8")
    if not isinstance(text, str):
        raise ValueError(
            f"A caption must be a string, got {type(text).__name__} {text!r}."
        )
    return tuple(_WORD.findall(text.lower()))


def caption_words(captions):
    """The set of words of all captions of one image.

    Args:
        captions: iterable of caption strings (or bytes).

    Returns:
        frozenset of words.

    Example:
        >>> sorted(caption_words(["A dog.", "Two dogs run"]))
        ['a', 'dog', 'dogs', 'run', 'two']
    """
    words = set()
    for caption in captions:
        words.update(tokenise(caption))
    return frozenset(words)
