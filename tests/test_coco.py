"""Tests of the COCO multilabel source (`tf_data.coco`, `tf_data.flickr_tags`).

Pure helpers are checked on hand-built inputs whose answers are known
exactly. The loader runs end to end through `tfds.testing.mock_data` with a
small COCO-format fixture built here: 6 train2014 images and 5 val2014
images spread over the TFDS splits `val`, `test` and `restval`.
"""

import json

import numpy as np
import pytest
import tensorflow as tf
import tensorflow_datasets as tfds

from tf_data import coco
from tf_data import flickr_tags

PERSON, BICYCLE, CAT, DOG, ZEBRA, GIRAFFE = 0, 1, 15, 16, 22, 23
BENCH, HOT_DOG, PIZZA, DINING_TABLE, CELL_PHONE = 13, 52, 53, 60, 67
IMAGE_WIDTH = 10

# tfds split -> [(image id, captions, object labels)]. The image height is
# 8 + id % 16 and every pixel equals id % 256, so a streamed image can be
# matched to its row.
FIXTURE = {
    "train": [
        (1, ["A man rides a bike.", "Two men on bicycles"], [PERSON, PERSON, BICYCLE]),
        (2, ["A dog's toy!", "the puppy plays"], [DOG]),
        (3, ["Pizza on a TABLE", "a hot dog and pizza"], [PIZZA, DINING_TABLE, HOT_DOG]),
        (4, ["An empty street"], []),
        (5, ["A cat, a dog."], [CAT, DOG]),
        (6, ["Man with phone"], [PERSON, CELL_PHONE]),
    ],
    "val": [(101, ["A zebra herd"], [ZEBRA])],
    "test": [(102, ["a giraffe"], [GIRAFFE])],
    "restval": [
        (103, ["a man and a kangaroo"], [PERSON]),
        (104, ["A dog"], [DOG]),
        (105, ["quokka on a bench"], [BENCH]),
    ],
}
TRAIN_WORDS = {
    "a", "and", "an", "bicycles", "bike", "cat", "dog", "empty", "hot", "man",
    "men", "on", "phone", "pizza", "plays", "puppy", "rides", "s", "street",
    "table", "the", "toy", "two", "with",
}
VALIDATION_ONLY_WORDS = {"zebra", "herd", "giraffe", "kangaroo", "quokka", "bench"}
KEPT_CATEGORIES = ("person", "bicycle", "cat", "dog", "pizza", "dining table", "cell phone")
# With validation_size + test_size = the 5 val2014 images, train is exactly
# the train2014 images 1..6.
SMALL_SIZES = {"validation_size": 2, "test_size": 3}
RECORDS = {i: (captions, labels) for split in FIXTURE.values() for i, captions, labels in split}


def fixture_example(image_id, captions, labels):
    count = len(labels)
    return {
        "image": np.full((8 + image_id % 16, IMAGE_WIDTH, 3), image_id % 256, np.uint8),
        "image/filename": f"COCO_2014_{image_id:012d}.jpg",
        "image/id": image_id,
        "objects": {
            "id": list(range(count)),
            "area": [100] * count,
            "bbox": [tfds.features.BBox(0.1, 0.2, 0.5, 0.6)] * count,
            "label": labels,
            "is_crowd": [False] * count,
        },
        "captions": {"text": captions, "id": list(range(len(captions)))},
    }


def fake_as_dataset(self, split, decoders=None, read_config=None, **kwargs):
    """Replaces `FileReaderBuilder._as_dataset`: serialises the fixture with
    the real coco_captions features and decodes it as TFDS would."""
    del read_config, kwargs
    full_features = self.info.features
    features = full_features
    if isinstance(decoders, tfds.decode.PartialDecoding):
        features = decoders.extract_features(full_features)
        decoders = decoders.decoders
    serialized = [
        full_features.serialize_example(fixture_example(*record))
        for record in FIXTURE[str(split)]
    ]
    dataset = tf.data.Dataset.from_tensor_slices(tf.constant(serialized, tf.string))
    return dataset.map(lambda s: features.deserialize_example(s, decoders=decoders))


@pytest.fixture
def mocked_tfds():
    with tfds.testing.mock_data(as_dataset_fn=fake_as_dataset):
        yield


def expected_parts(seed=0):
    train2014 = [r[0] for r in FIXTURE["train"]]
    val2014 = [r[0] for s in ("val", "test", "restval") for r in FIXTURE[s]]
    return coco.split_image_ids(train2014, val2014, seed, **SMALL_SIZES)


# ---------------------------------------------------------------- tokenising


def test_tokenise_lowercases_and_splits_on_every_non_letter():
    assert coco.tokenise("A man's T-shirt, 2 dogs!") == ("a", "man", "s", "t", "shirt", "dogs")
    assert coco.tokenise(b"Two  CATS\non a sofa.") == ("two", "cats", "on", "a", "sofa")
    assert coco.tokenise("caf\u00e9 42 ...") == ("caf",)
    assert coco.tokenise("") == ()


def test_tokenise_rejects_non_strings():
    with pytest.raises(ValueError, match="caption must be a string"):
        coco.tokenise(3)


def test_caption_words_is_the_union_over_captions():
    assert coco.caption_words(["A dog.", b"Two dogs run"]) == {"a", "dog", "two", "dogs", "run"}
    assert coco.caption_words([]) == frozenset()


# ---------------------------------------------------------------- vocabulary


def test_build_vocabulary_counts_images_once_and_breaks_ties_alphabetically():
    word_sets = [["a", "a", "dog", "man"], ["a", "dog", "on"], ["a", "zoo", "on"], ["cat"]]
    # Counts: a 3 (once per image), dog 2, on 2, then cat, man, zoo 1.
    assert coco.build_vocabulary(word_sets, 3) == ("a", "dog", "on")
    assert coco.build_vocabulary(word_sets, 6) == ("a", "dog", "on", "cat", "man", "zoo")
    assert coco.build_vocabulary(list(reversed(word_sets)), 4) == ("a", "dog", "on", "cat")


def test_build_vocabulary_refuses_to_clip_and_bad_sizes():
    with pytest.raises(ValueError, match="only 2 distinct caption words.*at most 2"):
        coco.build_vocabulary([{"a"}, {"b"}], 3)
    with pytest.raises(ValueError, match="num_tags=5.*Flickr tags"):
        coco.build_vocabulary([{"a"}], 5, size_name="num_tags", what="Flickr tags")
    for bad in (0, -1, 2.5, True, "10"):
        with pytest.raises(ValueError, match="positive integer"):
            coco.build_vocabulary([{"a"}], bad)


def test_multi_hot_marks_vocabulary_words_only():
    matrix = coco.multi_hot([{"dog", "unknown"}, set(), {"cat", "dog"}], ("cat", "dog"))
    assert matrix.dtype == np.uint8
    np.testing.assert_array_equal(matrix, [[0, 1], [0, 0], [1, 1]])
    with pytest.raises(ValueError, match="repeated words"):
        coco.multi_hot([{"a"}], ("a", "a"))


# ---------------------------------------------------------- clean categories


def test_coco_categories_are_the_80_names():
    assert len(coco.COCO_CATEGORIES) == 80 == len(set(coco.COCO_CATEGORIES))
    assert coco.COCO_CATEGORIES[DOG] == "dog" and coco.COCO_CATEGORIES[CELL_PHONE] == "cell phone"


def test_clean_label_matrix_from_object_annotations():
    labels = [[PERSON, PERSON, BICYCLE], [], [HOT_DOG], np.array([DOG, CAT])]
    matrix = coco.clean_label_matrix(labels, ("person", "dog", "bicycle"))
    np.testing.assert_array_equal(matrix, [[1, 0, 1], [0, 0, 0], [0, 0, 0], [0, 1, 0]])
    assert matrix.dtype == np.uint8
    with pytest.raises(ValueError, match="Object label 80 of image row 1"):
        coco.clean_label_matrix([[0], [80]], ("person",))


def test_plural_rules_and_irregulars():
    assert [coco.plural(w) for w in ("dog", "bus", "couch", "toothbrush", "giraffe")] == [
        "dogs", "buses", "couches", "toothbrushes", "giraffes",
    ]
    assert [coco.plural(w) for w in ("person", "mouse", "knife", "sheep", "skis")] == [
        "people", "mice", "knives", "sheep", "skis",
    ]


def test_category_words_use_name_plural_and_synonyms_never_name_parts():
    assert coco.category_words("bicycle") == ("bicycle", "bicycles", "bike", "bikes")
    assert coco.category_words("fire hydrant") == ("hydrant", "hydrants")
    assert "dog" not in coco.category_words("hot dog")
    assert coco.category_words("stop sign") == ()
    with pytest.raises(ValueError, match="Unknown COCO categories"):
        coco.category_words("unicorn")


def test_synonym_table_is_consistent():
    assert set(coco.CATEGORY_SYNONYMS) <= set(coco.COCO_CATEGORIES)
    owner = {}
    for category in coco.COCO_CATEGORIES:
        for word in coco.category_words(category):
            assert coco.tokenise(word) == (word,), f"{word!r} is not one caption word"
            assert word not in owner, f"{word!r} names {owner.get(word)} and {category}"
            owner[word] = category
    unnamed = [c for c in coco.COCO_CATEGORIES if not coco.category_words(c)]
    assert unnamed == ["stop sign"]


def test_select_categories_keeps_coco_order_and_refuses_empty():
    vocabulary = ("a", "dogs", "bike", "people", "hot", "table")
    assert coco.select_categories(vocabulary) == ("person", "bicycle", "dog", "dining table")
    with pytest.raises(ValueError, match="None of the 80 COCO categories.*num_words"):
        coco.select_categories(("a", "on", "the"))


def test_check_category_names_errors():
    assert coco.check_category_names(["tv", "dog"]) == ("tv", "dog")
    with pytest.raises(ValueError, match="empty"):
        coco.check_category_names([])
    with pytest.raises(ValueError, match="repeat"):
        coco.check_category_names(["dog", "dog"])
    with pytest.raises(ValueError, match="Unknown COCO categories.*tvmonitor"):
        coco.check_category_names(["tvmonitor"])


def test_clean_to_noisy_matrix_marks_names_plurals_and_synonyms():
    vocabulary = ("a", "dogs", "puppy", "bike", "man", "people", "hot")
    matrix = coco.clean_to_noisy_matrix(("person", "bicycle", "dog", "hot dog"), vocabulary)
    assert matrix.shape == (4, 7) and matrix.dtype == np.uint8
    named = [{vocabulary[j] for j in np.flatnonzero(row)} for row in matrix]
    assert named == [{"man", "people"}, {"bike"}, {"dogs", "puppy"}, set()]


# --------------------------------------------------------------------- split


def test_split_image_ids_full_scale_sizes_are_83287_20000_20000():
    train2014 = np.arange(82_783) * 2
    val2014 = np.arange(40_504) * 2 + 1
    parts = coco.split_image_ids(train2014, val2014, seed=0)
    assert [len(parts[k]) for k in ("train", "validation", "test")] == [83_287, 20_000, 20_000]
    union = np.concatenate(list(parts.values()))
    assert len(np.unique(union)) == 123_287
    assert np.isin(train2014, parts["train"]).all()
    assert not np.isin(parts["validation"], train2014).any()
    assert not np.isin(parts["test"], train2014).any()
    for ids in parts.values():
        assert np.all(np.diff(ids) > 0)
    same = coco.split_image_ids(train2014, val2014, seed=0)
    other = coco.split_image_ids(train2014, val2014, seed=1)
    np.testing.assert_array_equal(same["test"], parts["test"])
    assert not np.array_equal(other["test"], parts["test"])


def test_split_image_ids_errors():
    with pytest.raises(ValueError, match="exceeds the 3 val2014 images"):
        coco.split_image_ids([1], [2, 3, 4], 0, validation_size=2, test_size=2)
    with pytest.raises(ValueError, match="both train2014 and val2014"):
        coco.split_image_ids([1, 2], [2, 3], 0, validation_size=1, test_size=1)
    with pytest.raises(ValueError, match="repeat image id 3"):
        coco.split_image_ids([1], [3, 3, 4], 0, validation_size=1, test_size=1)
    with pytest.raises(ValueError, match="no train2014 images"):
        coco.split_image_ids([], [3, 4], 0, validation_size=1, test_size=1)
    with pytest.raises(ValueError, match="test_size must be a positive integer"):
        coco.split_image_ids([1], [3, 4], 0, validation_size=1, test_size=0)


def test_coco_clean_noisy_split_takes_a_seeded_fifth():
    clean, noisy = coco.coco_clean_noisy_split(1000, seed=3)
    assert len(clean) == 200 and len(noisy) == 800
    assert len(np.intersect1d(clean, noisy)) == 0
    np.testing.assert_array_equal(np.union1d(clean, noisy), np.arange(1000))
    np.testing.assert_array_equal(coco.coco_clean_noisy_split(1000, seed=3)[0], clean)
    with pytest.raises(ValueError, match="num_train"):
        coco.coco_clean_noisy_split(0)


def test_check_image_size():
    assert coco.check_image_size(None) is None
    assert coco.check_image_size([32, 48]) == (32, 48)
    for bad in ((0, 4), (4,), 32, (4.0, 4), "ab"):
        with pytest.raises(ValueError, match="image_size"):
            coco.check_image_size(bad)


# ---------------------------------------------------------------- Flickr tags


def write_json(tmp_path, content, name="tags.json"):
    path = tmp_path / name
    path.write_text(content if isinstance(content, str) else json.dumps(content))
    return str(path)


def test_read_tags_file_normalises_tags(tmp_path):
    path = write_json(tmp_path, {"1": [" Dog", "dog", "square format"], "2": []})
    assert flickr_tags.read_tags_file(path) == {
        1: frozenset({"dog", "square format"}), 2: frozenset(),
    }
    assert flickr_tags.parse_tags_mapping({7: ["x"]}) == {7: frozenset({"x"})}


@pytest.mark.parametrize(
    "content, message",
    [
        ([["1", ["dog"]]], "must be a JSON object.*got a list"),
        ({}, "is empty"),
        ({"1": "dog"}, "must be a list of strings, got str"),
        ({"1": ["dog", 3]}, "must be strings, got 3"),
        ({"1": ["  "]}, "empty tag"),
        ({"img1": ["dog"]}, "'img1' is not a decimal integer"),
        ({"7": ["a"], "07": ["b"]}, "lists image id 7 twice"),
        ("{not json", "not valid JSON"),
    ],
)
def test_read_tags_file_rejects_bad_content(tmp_path, content, message):
    with pytest.raises(ValueError, match=message):
        flickr_tags.read_tags_file(write_json(tmp_path, content))


def test_read_tags_file_rejects_missing_file(tmp_path):
    with pytest.raises(ValueError, match="does not exist"):
        flickr_tags.read_tags_file(str(tmp_path / "absent.json"))


def test_tag_sets_for_images_gives_untagged_images_empty_sets_and_rejects_unknown_ids():
    tags = {1: frozenset({"dog"}), 3: frozenset()}
    assert flickr_tags.tag_sets_for_images(tags, [3, 1, 2]) == [
        frozenset(), frozenset({"dog"}), frozenset(),
    ]
    with pytest.raises(ValueError, match="1 image id.*not COCO 2014 images.*e.g. 9"):
        flickr_tags.tag_sets_for_images({9: frozenset({"x"})}, [1, 2])


# ---------------------------------------------------------------- the loader


def test_missing_data_without_download_names_dataset_dir_and_command(tmp_path):
    with pytest.raises(ValueError) as error:
        coco.load_coco_captions(data_dir=str(tmp_path), download=False)
    message = str(error.value)
    assert "'coco_captions/2014' is not prepared" in message
    assert str(tmp_path) in message
    assert f"tfds build coco_captions/2014 --data_dir={tmp_path}" in message
    assert "download=True" in message


@pytest.mark.parametrize(
    "kwargs, message",
    [
        ({"num_words": 0}, "num_words"),
        ({"num_tags": -3}, "num_tags"),
        ({"seed": "0"}, "seed"),
        ({"validation_size": 0}, "validation_size"),
        ({"categories": ["dog", "unicorn"]}, "unicorn"),
        ({"tags_file": "/nonexistent/tags.json"}, "does not exist"),
    ],
)
def test_loader_rejects_bad_arguments_before_touching_data(tmp_path, kwargs, message):
    with pytest.raises(ValueError, match=message):
        coco.load_coco_captions(data_dir=str(tmp_path), **kwargs)


def collect_images(split, image_size):
    elements = list(split.image_dataset(image_size).as_numpy_iterator())
    return {int(e["index"]): e["image"] for e in elements}, len(elements)


def test_loader_end_to_end_with_caption_labels(mocked_tfds):
    data = coco.load_coco_captions(download=True, num_words=len(TRAIN_WORDS), **SMALL_SIZES)
    parts = expected_parts()
    assert data.name == "coco_captions"
    assert [len(data.train), len(data.validation), len(data.test)] == [6, 2, 3]
    np.testing.assert_array_equal(parts["train"], [1, 2, 3, 4, 5, 6])

    # Vocabulary: exactly the training words; validation-only words absent.
    assert set(data.noisy_vocabulary) == TRAIN_WORDS
    assert not VALIDATION_ONLY_WORDS & set(data.noisy_vocabulary)
    assert data.noisy_vocabulary[:4] == ("a", "dog", "man", "on")  # counts 4, 3, 2, 2
    col = {w: j for j, w in enumerate(data.noisy_vocabulary)}
    assert {data.noisy_vocabulary[j] for j in np.flatnonzero(data.train.noisy_labels[3])} == {
        "an", "empty", "street",
    }
    for split_name in ("train", "validation", "test"):
        split = getattr(data, split_name)
        expected = coco.multi_hot(
            [coco.caption_words(RECORDS[int(i)][0]) for i in parts[split_name]],
            data.noisy_vocabulary,
        )
        np.testing.assert_array_equal(split.noisy_labels, expected)

    # Clean categories by the vocabulary rule; "hot dog" has no caption word.
    assert data.clean_vocabulary == KEPT_CATEGORIES
    assert "hot dog" in data.description and "7 COCO object categories" in data.description
    np.testing.assert_array_equal(
        data.train.clean_labels,
        [
            [1, 1, 0, 0, 0, 0, 0],
            [0, 0, 0, 1, 0, 0, 0],
            [0, 0, 0, 0, 1, 1, 0],
            [0, 0, 0, 0, 0, 0, 0],
            [0, 0, 1, 1, 0, 0, 0],
            [1, 0, 0, 0, 0, 0, 1],
        ],
    )
    held_out = {101: [0] * 7, 102: [0] * 7, 103: [1, 0, 0, 0, 0, 0, 0],
                104: [0, 0, 0, 1, 0, 0, 0], 105: [0] * 7}
    for split_name in ("validation", "test"):
        np.testing.assert_array_equal(
            getattr(data, split_name).clean_labels,
            [held_out[int(i)] for i in parts[split_name]],
        )

    named = [{data.noisy_vocabulary[j] for j in np.flatnonzero(r)} for r in data.clean_to_noisy]
    assert named == [
        {"man", "men"}, {"bike", "bicycles"}, {"cat"}, {"dog", "puppy"}, {"pizza"},
        {"table"}, {"phone"},
    ]
    assert data.clean_to_noisy[:, col["hot"]].sum() == 0

    # Streamed images: every row once, native size, pixels identify the image.
    for split_name in ("train", "validation", "test"):
        split = getattr(data, split_name)
        images, count = collect_images(split, None)
        assert count == len(split) and sorted(images) == list(range(len(split)))
        for row, image_id in enumerate(parts[split_name]):
            image = images[row]
            assert image.dtype == np.float32
            assert image.shape == (8 + image_id % 16, IMAGE_WIDTH, 3)
            assert abs(float(image.mean()) * 255 - image_id % 256) < 2.0
        resized, count = collect_images(split, (6, 7))
        assert count == len(split)
        for image in resized.values():
            assert image.shape == (6, 7, 3)
            assert 0.0 <= image.min() and image.max() <= 1.0


def test_loader_refuses_more_words_than_training_captions_hold(mocked_tfds):
    with pytest.raises(ValueError, match=f"only {len(TRAIN_WORDS)} distinct caption words"):
        coco.load_coco_captions(download=True, num_words=len(TRAIN_WORDS) + 1, **SMALL_SIZES)


def test_loader_split_seed_and_explicit_categories(mocked_tfds):
    data = coco.load_coco_captions(
        download=True, num_words=4, seed=5, categories=("zebra", "dog"),
        validation_size=1, test_size=1,
    )
    parts = coco.split_image_ids(
        [1, 2, 3, 4, 5, 6], [101, 102, 103, 104, 105], 5, validation_size=1, test_size=1,
    )
    assert [len(data.train), len(data.validation), len(data.test)] == [9, 1, 1]
    assert data.noisy_vocabulary == coco.build_vocabulary(
        [coco.caption_words(RECORDS[int(i)][0]) for i in parts["train"]], 4
    )
    assert data.clean_vocabulary == ("zebra", "dog")
    assert "given by the caller" in data.description
    labels = {101: [1, 0], 102: [0, 0], 103: [0, 0], 104: [0, 1], 105: [0, 0]}
    labels.update({i: [0, int(DOG in RECORDS[i][1])] for i in range(1, 7)})
    for split_name in ("train", "validation", "test"):
        np.testing.assert_array_equal(
            getattr(data, split_name).clean_labels,
            [labels[int(i)] for i in parts[split_name]],
        )
    images, count = collect_images(data.train, (5, 5))
    assert count == 9 and sorted(images) == list(range(9))


def test_loader_with_flickr_tags(mocked_tfds, tmp_path):
    tags = {"1": ["Bicycle", "street"], "2": ["dog", "Dog", "park"], "5": ["dog"],
            "101": ["zebra"], "6": []}
    path = write_json(tmp_path, tags)
    data = coco.load_coco_captions(
        download=True, num_words=len(TRAIN_WORDS), tags_file=path, num_tags=3, **SMALL_SIZES
    )
    assert data.name == "coco_flickr_tags"
    assert data.noisy_vocabulary == ("dog", "bicycle", "park")  # counts 2, 1, 1
    assert data.clean_vocabulary == KEPT_CATEGORIES  # still from the captions
    np.testing.assert_array_equal(
        data.train.noisy_labels,
        [[0, 1, 0], [1, 0, 1], [0, 0, 0], [0, 0, 0], [1, 0, 0], [0, 0, 0]],
    )
    parts = expected_parts()
    expected_validation = [[0, 0, 0]] * len(parts["validation"])
    np.testing.assert_array_equal(data.validation.noisy_labels, expected_validation)
    np.testing.assert_array_equal(data.train.clean_labels[0], [1, 1, 0, 0, 0, 0, 0])
    named = [{data.noisy_vocabulary[j] for j in np.flatnonzero(r)} for r in data.clean_to_noisy]
    assert named == [set(), {"bicycle"}, set(), {"dog"}, set(), set(), set()]


def test_loader_with_bad_flickr_tags(mocked_tfds, tmp_path):
    unknown = write_json(tmp_path, {"1": ["dog"], "999": ["cat"]}, "unknown.json")
    with pytest.raises(ValueError, match="not COCO 2014 images.*e.g. 999"):
        coco.load_coco_captions(download=True, num_words=4, tags_file=unknown, **SMALL_SIZES)
    few = write_json(tmp_path, {"1": ["dog"], "2": ["cat"]}, "few.json")
    with pytest.raises(ValueError, match="num_tags=3 but the training images have only 2"):
        coco.load_coco_captions(
            download=True, num_words=4, tags_file=few, num_tags=3, **SMALL_SIZES
        )
