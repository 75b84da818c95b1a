// nn/nn.hpp — everything in distillery::nn (layers, models, functional use, checkpoints).
//
//   module.hpp      Module<T>: named parameters/buffers, state dicts, train/eval, clone, to(Device)
//   init.hpp        PyTorch default init, Xavier; all from an explicit Generator
//   layers.hpp      Linear, Conv1d, Conv2d, pools, Flatten, Dropout, activations, LayerNorm,
//                   Embedding
//   container.hpp   Sequential, MLP
//   functional.hpp  functional_call, flat parameter vectors
//   attention.hpp   MultiheadAttention       transformer.hpp  TransformerEncoder(Layer)
//   recurrent.hpp   RNN, LSTM                models.hpp       LeNet5, KimCNN, RNNClassifier
//   policies.hpp    Gaussian policy, deterministic actor, Q and value networks
//   checkpoint.hpp  safetensors save/load of a module
//
// Example (LeNet-5 on a batch):
//   distillery::Generator gen(0);
//   distillery::nn::LeNet5<float> net(10, gen);
//   auto logits = net(x);                                  // x [N, 1, 28, 28] -> [N, 10]
//   auto loss = distillery::cross_entropy(logits, y);
//   loss.backward();
#pragma once
#include "attention.hpp"
#include "checkpoint.hpp"
#include "container.hpp"
#include "functional.hpp"
#include "init.hpp"
#include "layers.hpp"
#include "models.hpp"
#include "module.hpp"
#include "policies.hpp"
#include "recurrent.hpp"
#include "transformer.hpp"
