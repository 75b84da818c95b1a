// distributed/distributed.hpp — the umbrella header of the data-parallel layer on MPI.
//
// Not part of distillery.hpp (the core stays MPI-free): include it explicitly and link
// distillery::mpi (configure with -DDISTILLERY_MPI=ON; Debian: libopenmpi-dev openmpi-bin).
//   mpi.hpp                  Environment / run(): MPI_Init..Finalize, one failing rank ends the
//                            job with a message on every rank; check_mpi, mpi_type<T>
//   process_group.hpp        ProcessGroup: rank, size, all-reduce (sum/mean/max/min, fast or
//                            fixed order), broadcast, all_gather, barrier, run_on_main, timeout
//   ddp.hpp                  DistributedDataParallel: parameters broadcast from rank 0, bucketed
//                            gradient all-reduce started during backward() (engine hooks)
//   distributed_sampler.hpp  DistributedSampler / DistributedDataLoader: each rank its shard
// Methods bring their own distributed drivers (e.g. methods/dataset_distill_distributed.hpp);
// this layer only knows how to reduce and never includes methods/.
//
//   #include <distillery/distributed/distributed.hpp>
//   int main(int argc, char** argv) {
//     return distillery::distributed::run(argc, argv, [&] { ...; return 0; });
//   }
//   mpirun -np 2 ./train ...
#pragma once

#include "mpi.hpp"
#include "process_group.hpp"
#include "ddp.hpp"
#include "distributed_sampler.hpp"
