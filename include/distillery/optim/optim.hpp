// optim/optim.hpp — everything in distillery::optim.
//
//   optimizer.hpp     Optimizer base, ParamGroup, decay_groups (no decay on biases/LayerNorm)
//   sgd.hpp           SGD (momentum, dampening, Nesterov, weight decay)
//   adam.hpp          Adam, AdamW (amsgrad)
//   lr_scheduler.hpp  StepLR, MultiStepLR, CosineAnnealingLR, LinearLR, WarmupLinear,
//                     WarmupCosine, LambdaLR
//   clip.hpp          clip_grad_norm_, clip_grad_value_
//   ema.hpp           ParameterEMA, ema_update
//
// A training step:
//   optim::SGDOptions o;  o.lr = 0.05;  o.momentum = 0.9;
//   optim::SGD<float> opt(model.parameters(), o);
//   optim::CosineAnnealingLR<float> sched(opt, epochs);
//   for (...) { auto loss = ...; opt.zero_grad(); loss.backward(); opt.step(); }
//   sched.step();   // once per epoch
#pragma once
#include "adam.hpp"
#include "clip.hpp"
#include "ema.hpp"
#include "lr_scheduler.hpp"
#include "optimizer.hpp"
#include "sgd.hpp"
