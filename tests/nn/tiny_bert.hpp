// tests/nn/tiny_bert.hpp — the small BERT configuration the BERT tests (CPU and CUDA) build:
// FFN 2·hidden, sequences up to 16 tokens; vocabulary, labels and dropout per test.
#pragma once
#include <cstdint>

#include <distillery/nn/bert.hpp>

namespace test_support {

inline distillery::nn::BertConfig tiny_bert(int64_t hidden, int64_t layers, int64_t heads, int64_t labels,
                                            int64_t vocab = 12, double dropout = 0.1) {
  distillery::nn::BertConfig c;
  c.vocab_size = vocab;
  c.hidden = hidden;
  c.layers = layers;
  c.heads = heads;
  c.ffn = 2 * hidden;
  c.max_len = 16;
  c.dropout = dropout;
  c.num_labels = labels;
  return c;
}

}  // namespace test_support
