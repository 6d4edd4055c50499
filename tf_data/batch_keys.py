"""The one batch format of every model and pipeline in this project.

A batch is a dict of tensors with these keys (or an `(x, y)` /
`(x, y, sample_weight)` tuple, read as `{IMAGE_KEY: x, LABEL_KEY: y}`):

* `IMAGE_KEY` (`"image"`): `(B, ...)` float32 inputs: images or feature
  vectors.
* `LABEL_KEY` (`"label"`): the given (possibly noisy) labels: `(B,)` int
  class indices, `UNLABELLED` (-1) for an unlabelled example; or `(B, N)`
  {0, 1} multi-hot labels for the multilabel models.
* `VERIFIED_LABEL_KEY` (`"verified_label"`): labels known to be clean (the
  clean set `D_C` of Vahdat 2017), same layout as `LABEL_KEY`; -1 (multiclass)
  or ignored rows (multilabel, see `IS_CLEAN_KEY`) where unknown.
* `IS_CLEAN_KEY` (`"is_clean"`): `(B,)` 1 for rows of `D_C` (multilabel).
* `IS_LABELLED_KEY` (`"is_labelled"`): `(B,)` True for rows drawn from the
  labelled set of UMN's mixed stream (`umn.semi_supervised_stream`); the
  models read `LABEL_KEY >= 0` instead, the flag is for inspecting batches.
* `CLEAN_IMAGE_KEY`, `CLEAN_LABEL_KEY` (`"clean_image"`, `"clean_label"`):
  a batch of the small trusted set carried beside the noisy one, for the
  methods that look at it every step (`robustcrf.LearningToReweight`;
  `tf_data.pipelines.trusted_pipeline` builds such batches).
* `INDEX_KEY` (`"index"`): `(B,)` int64 position of the example in its
  training set (the multilabel CRF keys its persistent chains by it).
* `HELD_OUT_DISBELIEF_KEY` (`"held_out_disbelief"`): `(B,)` float32, a
  labelled row's `1 - p(y_obs | x)` under a label-spreading posterior that
  never saw its label (`umn.label_spreading.held_out_disbelief`), half of
  UMN's default eps; 0 on unlabelled rows.
* `SAMPLE_WEIGHT_KEY` (`"sample_weight"`): optional `(B,)` example weights.
* `TRUE_LABEL_KEY` (`"true_label"`): ground truth of synthetic noise, carried
  for evaluation only; no model reads it.
"""

IMAGE_KEY = "image"
LABEL_KEY = "label"
VERIFIED_LABEL_KEY = "verified_label"
IS_CLEAN_KEY = "is_clean"
CLEAN_IMAGE_KEY = "clean_image"
CLEAN_LABEL_KEY = "clean_label"
IS_LABELLED_KEY = "is_labelled"
INDEX_KEY = "index"
HELD_OUT_DISBELIEF_KEY = "held_out_disbelief"
SAMPLE_WEIGHT_KEY = "sample_weight"
TRUE_LABEL_KEY = "true_label"
UNLABELLED = -1
