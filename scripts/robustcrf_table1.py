"""Reproduces Table 1 of the robust CRF paper (mAP per method).

    python -m scripts.robustcrf_table1                      # digit_mosaics, all rows
    python -m scripts.robustcrf_table1 --preset=smoke       # seconds
    python -m scripts.robustcrf_table1 --dataset=npz:../shared/data/yeast.npz --backbone=mlp \
        --flip_off=0.4 --flip_on=0.05 --seeds=0,1,2
    python -m scripts.robustcrf_table1 --dataset=coco_captions --backbone=resnet50 \
        --image_size=224 --preset=paper --data_dir=/data/coco

Prints progress and the table; writes `<output_dir>/results.json`.
"""

from absl import app
from absl import flags

from scripts.harness import runtime  # first: quiet TF import
from scripts.harness import crf_table1 as experiment
from scripts.harness import training
from scripts.harness import crf_table1_methods as variants
from robustcrf.multilabel.losses import CLEAN_WEIGHTINGS

FLAGS = flags.FLAGS
flags.DEFINE_string("dataset", "digit_mosaics",
                    "digit_mosaics, coco_captions, coco_tags or npz:PATH (a multilabel archive "
                    "of feature vectors or images; see tf_data/multilabel_npz.py).")
flags.DEFINE_list("methods", list(variants.METHODS), "Table 1 rows to run.")
flags.DEFINE_enum("backbone", "small_cnn", list(experiment.BACKBONES),
                  "Backbone; mlp for feature vectors.")
flags.DEFINE_integer("image_size", None, "Image side (paper: 224 or 565); default native.")
flags.DEFINE_enum("preset", "default", list(experiment.PRESETS), "Sizes and schedules.")
flags.DEFINE_string("output_dir", "runs/robustcrf_table1", "Where results.json goes.")
flags.DEFINE_list("seeds", ["0"], "Seeds: one run of every method per seed (noise, split, "
                  "RBM, models); the table shows mean ± std.")
flags.DEFINE_float("clean_fraction", experiment.CLEAN_FRACTION,
                   "Share of the training set that forms the clean set D_C.")
flags.DEFINE_enum("clean_weighting", None, list(CLEAN_WEIGHTINGS),
                  "How the CRF rows weigh D_C against D_N: per_set (the paper's Eq. 3, 8; "
                  "the paper preset's) or per_example (every example alike; the default "
                  "preset's).")
flags.DEFINE_bool("auxiliary_check", None,
                  "Keep p_aux (alpha annealed) only where it ranks held-out clean labels of D_C "
                  "better than a model of the inputs does, else alpha = 0 (default: the "
                  "preset's; on in default and smoke, off in paper).")
flags.DEFINE_bool("start_from_auxiliary", None,
                  "Start the CRF's energy at the auxiliary RBM's where p_aux is kept (default: "
                  "the preset's).")
flags.DEFINE_float("ema_momentum", None,
                   "Momentum of the moving average of the weights that every row ends with "
                   "(Keras' use_ema; 0 turns it off; default: the preset's, 0.99 in default "
                   "and smoke, off in paper).")
flags.DEFINE_float("flip_on", None, "Plant noise on an npz source with clean labels only: "
                   "probability that an absent label is switched on.")
flags.DEFINE_float("flip_off", None, "... and that a present label is switched off.")
flags.DEFINE_string("data_dir", None, "COCO data directory.")
flags.DEFINE_string("tags_file", None, "Flickr tags file (for --dataset=coco_tags).")
flags.DEFINE_bool("download", False, "Let the COCO loader download missing data.")
runtime.define_determinism_flag()
flags.DEFINE_string("weights", None, "Backbone weights for resnet50/vgg16 (file or 'imagenet').")
training.define_flags()


def main(argv):
    del argv
    runtime.start_run(FLAGS)
    result = experiment.run_table1(
        dataset=FLAGS.dataset, methods=FLAGS.methods, preset=FLAGS.preset,
        backbone=FLAGS.backbone, image_size=FLAGS.image_size,
        seeds=[int(seed) for seed in FLAGS.seeds], output_dir=FLAGS.output_dir,
        data_dir=FLAGS.data_dir, tags_file=FLAGS.tags_file, download=FLAGS.download,
        weights=FLAGS.weights, clean_fraction=FLAGS.clean_fraction, flip_on=FLAGS.flip_on,
        flip_off=FLAGS.flip_off, clean_weighting=FLAGS.clean_weighting,
        auxiliary_check=FLAGS.auxiliary_check, start_from_auxiliary=FLAGS.start_from_auxiliary,
        ema_momentum=FLAGS.ema_momentum, training=training.from_flags(FLAGS))
    print(result["table"])
    print(f"Wrote {result['results_path']}")


if __name__ == "__main__":
    app.run(main)
