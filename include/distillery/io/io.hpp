// io/io.hpp — files in and out: checkpoints, results, images; all without third-party libraries.
//
//   safetensors.hpp  save/load a StateDict (name -> Tensor<float|double|int64_t>) in the
//                    safetensors format PyTorch and Hugging Face use; strict header validation
//   json.hpp         Json values for results files (--json PATH in the examples)
//   png.hpp          8-bit grayscale/RGB PNG writer and an image-grid helper (distilled images)
//   atomic_file.hpp  every writer above goes through write_file_atomic: temp file, fsync, rename
//   json_reader.hpp  the strict streaming JSON reader behind safetensors and the data readers
//   checksum.hpp     CRC-32/Adler-32; bytes.hpp the bounds-checked byte cursor and the
//                    "file: byte N" errors (the gzip decoder is data/readers/inflate.hpp)
//
//   StateDict sd = {{"fc.weight", w}, {"fc.bias", b}};
//   save_safetensors("out/model.safetensors", sd, {{"epoch", "10"}});
//   Json r = Json::object(); r["test_accuracy"] = 0.981; write_json("out/run.json", r);
#pragma once
#include "atomic_file.hpp"
#include "bytes.hpp"
#include "checksum.hpp"
#include "json.hpp"
#include "json_reader.hpp"
#include "png.hpp"
#include "safetensors.hpp"
