"""User-supplied Flickr tags for COCO images (robust CRF, Section 4.2).

The paper's second COCO experiment replaces the caption words by the images'
real Flickr tags, collected through Flickr's public API, and keeps the 1,024
most common tags as noisy labels. The tags are not redistributed with COCO,
so users supply them as a JSON file: one object mapping a COCO image id to
the list of that image's tags, e.g.

    {"262145": ["square", "iphoneography", "instagram app"],
     "262146": []}

Rules (all documented, nothing silently dropped):

* Keys are COCO image ids written as decimal integers (JSON keys are always
  strings; a Python mapping may use ints). Two keys naming the same id
  (e.g. "7" and "07") are an error.
* Values are lists of strings. A tag is normalised by stripping surrounding
  whitespace and lowercasing (Flickr tags are case-insensitive: "India" and
  "india" are one tag); a tag that is empty after stripping is an error.
  Repeated tags of one image count once (labels are binary).
* A tag is one label, it is not split into words ("square format" stays one
  tag), unlike captions.
* Every id must be a COCO 2014 image id of the loaded data; an unknown id is
  an error (it usually means the file belongs to another dataset).
* COCO images that have no entry, or an empty list, get an all-zero tag
  vector: most Flickr images carry no tags (see the paper's Figure 3).
"""

import json
import os

TAGS_FILE_EXAMPLE = '{"262145": ["square", "instagram app"], "262146": []}'
MAX_IDS_IN_MESSAGE = 5


def normalise_tag(tag, image_id="?"):
    """Strips and lowercases one Flickr tag.

    Args:
        tag: the tag string.
        image_id: the image the tag belongs to, for error messages.

    Returns:
        The normalised tag.

    Raises:
        ValueError: `tag` is not a string or is empty after stripping.

    Example:
        >>> normalise_tag("  India ")
        'india'
    """
    if not isinstance(tag, str):
        raise ValueError(
            f"Tags of image {image_id} must be strings, got {tag!r} "
            f"({type(tag).__name__}). Write every tag as a JSON string."
        )
    normalised = tag.strip().lower()
    if not normalised:
        raise ValueError(
            f"Image {image_id} has an empty tag {tag!r}; remove empty tags "
            "from the tags file."
        )
    return normalised


def parse_image_id(key):
    """Turns a tags-file key (decimal string or int) into an int image id.

    Args:
        key: `"262145"`, `" 262145 "` or `262145`.

    Returns:
        The id as a Python int.

    Raises:
        ValueError: `key` is not a non-negative decimal integer.

    Example:
        >>> parse_image_id("262145")
        262145
    """
    if isinstance(key, bool):
        raise ValueError(f"Image id {key!r} is a boolean, not a COCO image id.")
    if isinstance(key, int):
        image_id = key
    elif isinstance(key, str) and key.strip().isdigit():
        image_id = int(key.strip())
    else:
        raise ValueError(
            f"Image id {key!r} is not a decimal integer. Keys of the tags "
            f"file must be COCO image ids, e.g. {TAGS_FILE_EXAMPLE}."
        )
    if image_id < 0:
        raise ValueError(f"Image id {key!r} is negative; COCO image ids are >= 0.")
    return image_id


def parse_tags_mapping(mapping, source="tags mapping"):
    """Validates a mapping image id -> list of tags and normalises it.

    Args:
        mapping: dict from image id (int or decimal string) to a list of
            tag strings.
        source: where the mapping came from, for error messages.

    Returns:
        dict from int image id to a frozenset of normalised tags.

    Raises:
        ValueError: not a dict, empty, bad id, duplicate id, a value that is
            not a list, or a bad tag.

    Example:
        >>> tags = parse_tags_mapping({"1": ["Dog", "dog", " park"], 2: []})
        >>> {image_id: sorted(t) for image_id, t in tags.items()}
        {1: ['dog', 'park'], 2: []}
    """
    if not isinstance(mapping, dict):
        raise ValueError(
            f"{source} must be a JSON object mapping image id to a list of "
            f"tags, e.g. {TAGS_FILE_EXAMPLE}; got a {type(mapping).__name__}."
        )
    if not mapping:
        raise ValueError(
            f"{source} is empty: it maps no image to tags. Give at least one "
            f"image, e.g. {TAGS_FILE_EXAMPLE}."
        )
    tags_by_id = {}
    for key, tags in mapping.items():
        image_id = parse_image_id(key)
        if image_id in tags_by_id:
            raise ValueError(
                f"{source} lists image id {image_id} twice (key {key!r}); "
                "merge the two entries into one."
            )
        if not isinstance(tags, list):
            raise ValueError(
                f"Tags of image {key!r} in {source} must be a list of strings, "
                f"got {type(tags).__name__} {tags!r}. Write e.g. "
                '["dog", "park"], or [] for an untagged image.'
            )
        tags_by_id[image_id] = frozenset(normalise_tag(t, key) for t in tags)
    return tags_by_id


def read_tags_file(path):
    """Reads and validates a JSON tags file (see the module docstring).

    Args:
        path: path of the JSON file.

    Returns:
        dict from int image id to a frozenset of normalised tags.

    Raises:
        ValueError: the file is missing, is not valid JSON, or its content
            fails `parse_tags_mapping`.

    Example:
        >>> tags = read_tags_file("coco_flickr_tags.json")  # doctest: +SKIP
    """
    if not isinstance(path, (str, os.PathLike)) or not os.path.isfile(path):
        raise ValueError(
            f"Tags file {path!r} does not exist. Pass the path of a JSON file "
            f"mapping COCO image id to tags, e.g. {TAGS_FILE_EXAMPLE}."
        )
    with open(path, encoding="utf-8") as handle:
        try:
            mapping = json.load(handle)
        except json.JSONDecodeError as error:
            raise ValueError(
                f"Tags file {path!r} is not valid JSON ({error}). It must hold "
                f"one object such as {TAGS_FILE_EXAMPLE}."
            ) from None
    return parse_tags_mapping(mapping, source=f"Tags file {str(path)!r}")


def tag_sets_for_images(tags_by_id, image_ids, source="tags file"):
    """Looks up the tag set of every image, in the order of `image_ids`.

    Args:
        tags_by_id: dict int image id -> frozenset of tags
            (from `read_tags_file` or `parse_tags_mapping`).
        image_ids: ids of all loaded COCO images (every split); images
            without an entry get an empty set.
        source: name used in error messages.

    Returns:
        list of frozensets, one per id of `image_ids`.

    Raises:
        ValueError: `tags_by_id` names ids that are not in `image_ids`.

    Example:
        >>> tag_sets_for_images({1: frozenset({"dog"})}, [1, 2])
        [frozenset({'dog'}), frozenset()]
    """
    known = {int(i) for i in image_ids}
    unknown = sorted(set(tags_by_id) - known)
    if unknown:
        shown = ", ".join(str(i) for i in unknown[:MAX_IDS_IN_MESSAGE])
        raise ValueError(
            f"{source} has tags for {len(unknown)} image id(s) that are not "
            f"COCO 2014 images of the loaded data (e.g. {shown}). Check that "
            "the file's keys are COCO image ids (the number in "
            "COCO_train2014_000000262145.jpg is 262145) and remove the others."
        )
    empty = frozenset()
    return [tags_by_id.get(int(i), empty) for i in image_ids]
