// tests/ops/test_views.cpp — views share storage with exact geometry (shape, strides, offset);
// contiguous()/reshape copy only when they must; clone always copies.
#include <distillery/distillery.hpp>

#include <doctest/doctest.h>

#include <numeric>
#include <vector>

using namespace distillery;
using TD = Tensor<double>;

namespace {

// [0, 1, ..., n-1] with the given shape.
TD iota(const Shape& s) {
  std::vector<double> v(s.numel());
  std::iota(v.begin(), v.end(), 0.0);
  return TD::from_vector(v, s);
}

// A view of `base`: same storage, the expected geometry.
void check_view(const TD& v, const TD& base, const Shape& shape, const Strides& strides,
                int64_t offset) {
  CHECK(v.same_storage(base));
  CHECK(v.shape() == shape);
  CHECK(v.strides() == strides);
  CHECK(v.storage_offset() == offset);
}

}  // namespace

TEST_CASE("fresh tensors are contiguous with row-major strides") {
  TD a = iota({2, 3, 4});
  CHECK(a.is_contiguous());
  CHECK(a.strides() == Strides{12, 4, 1});
  CHECK(a.storage_offset() == 0);
  CHECK(TD::scalar(1).strides() == Strides{});
}

TEST_CASE("movement ops are views with the expected strides and offsets") {
  TD a = iota({2, 3, 4});
  check_view(transpose(a, 0, 2), a, {4, 3, 2}, {1, 4, 12}, 0);
  check_view(permute(a, {1, 2, 0}), a, {3, 4, 2}, {4, 1, 12}, 0);
  check_view(narrow(a, 1, 1, 2), a, {2, 2, 4}, {12, 4, 1}, 4);
  check_view(slice(a, 2, 1, 4, 2), a, {2, 3, 2}, {12, 4, 2}, 1);
  check_view(select(a, 1, 2), a, {2, 4}, {12, 1}, 8);
  check_view(select(a, 0, -1), a, {3, 4}, {4, 1}, 12);
  check_view(unsqueeze(a, 1), a, {2, 1, 3, 4}, {12, 12, 4, 1}, 0);
  check_view(unsqueeze(a, 3), a, {2, 3, 4, 1}, {12, 4, 1, 1}, 0);
  check_view(squeeze(unsqueeze(a, 0), 0), a, {2, 3, 4}, {12, 4, 1}, 0);
  TD col = iota({3, 1});
  check_view(expand(col, {2, 3, 4}), col, {2, 3, 4}, {0, 1, 0}, 0);
  check_view(reshape(a, {6, 4}), a, {6, 4}, {4, 1}, 0);
  check_view(view(a, {4, -1}), a, {4, 6}, {6, 1}, 0);
  check_view(flatten(a, 1), a, {2, 12}, {12, 1}, 0);
  check_view(a.detach(), a, {2, 3, 4}, {12, 4, 1}, 0);
  // views of views compose
  TD tv = transpose(narrow(a, 2, 1, 3), 0, 1);  // [3, 2, 3]
  check_view(tv, a, {3, 2, 3}, {4, 12, 1}, 1);
  CHECK(tv.to_vector() ==
        std::vector<double>{1, 2, 3, 13, 14, 15, 5, 6, 7, 17, 18, 19, 9, 10, 11, 21, 22, 23});
}

TEST_CASE("split and chunk return views into the same storage") {
  TD a = iota({5, 2});
  auto parts = split(a, 2);
  REQUIRE(parts.size() == 3);
  check_view(parts[1], a, {2, 2}, {2, 1}, 4);
  check_view(parts[2], a, {1, 2}, {2, 1}, 8);
  auto cols = chunk(a, 2, 1);
  REQUIRE(cols.size() == 2);
  check_view(cols[1], a, {5, 1}, {2, 1}, 1);
}

TEST_CASE("writes to the storage are seen through every view") {
  TD a = iota({3, 4});
  TD t = transpose(a, 0, 1), n = narrow(a, 0, 1, 1), e = expand(select(a, 1, 0), {2, 3});
  a.data_ptr()[4] = -1;  // element (1, 0)
  CHECK(t.to_vector()[1] == -1);
  CHECK(n.to_vector()[0] == -1);
  CHECK(e.to_vector() == std::vector<double>{0, -1, 8, 0, -1, 8});
}

TEST_CASE("contiguous() and reshape copy only when needed; clone always copies") {
  TD a = iota({3, 4});
  SUBCASE("already contiguous: the same tensor") {
    TD c = contiguous(a);
    CHECK(c.impl() == a.impl());
    CHECK(a.contiguous().data_ptr() == a.data_ptr());
  }
  SUBCASE("a transpose is copied into row-major order") {
    TD t = a.t();
    CHECK_FALSE(t.is_contiguous());
    TD c = t.contiguous();
    CHECK_FALSE(c.same_storage(a));
    CHECK(c.is_contiguous());
    CHECK(c.strides() == Strides{3, 1});
    CHECK(c.to_vector() == std::vector<double>{0, 4, 8, 1, 5, 9, 2, 6, 10, 3, 7, 11});
    TD r = reshape(t, {12});  // reshape of a non-contiguous view must copy
    CHECK_FALSE(r.same_storage(a));
    CHECK(r.to_vector() == c.to_vector());
  }
  SUBCASE("a narrow along the first dim stays a view when reshaped") {
    TD n = narrow(a, 0, 1, 2);
    CHECK(n.is_contiguous());
    check_view(reshape(n, {8}), a, {8}, {1}, 4);
  }
  SUBCASE("size-1 dims do not break contiguity") {
    TD u = unsqueeze(select(a, 1, 2), 1);  // [3, 1], strides {4, ...}
    CHECK_FALSE(u.is_contiguous());
    TD row = unsqueeze(select(a, 0, 1), 0);  // [1, 4]
    CHECK(row.is_contiguous());
    CHECK(contiguous(row).same_storage(a));
  }
  SUBCASE("an expanded tensor is materialised by contiguous()") {
    TD e = expand(iota({1, 3}), {2, 3});
    TD c = e.contiguous();
    CHECK(c.is_contiguous());
    CHECK(c.to_vector() == std::vector<double>{0, 1, 2, 0, 1, 2});
  }
  SUBCASE("clone copies even a contiguous tensor") {
    TD c = clone(a);
    CHECK_FALSE(c.same_storage(a));
    CHECK(c.to_vector() == a.to_vector());
    c.data_ptr()[0] = 99;
    CHECK(a.to_vector()[0] == 0);
  }
  SUBCASE("view() refuses a non-contiguous input instead of copying") {
    CHECK_THROWS_AS(view(a.t(), {12}), Error);
  }
}

TEST_CASE("gradients flow from a view back into the base's layout") {
  TD x = iota({3, 4}).requires_grad_();
  TD v = slice(transpose(x, 0, 1), 0, 1, 4, 2);  // columns 1 and 3 of x, as rows
  sum(v * v).backward();
  CHECK(x.grad().shape() == Shape{3, 4});
  CHECK(x.grad().to_vector() == std::vector<double>{0, 2, 0, 6, 0, 10, 0, 14, 0, 18, 0, 22});
}

TEST_CASE("empty tensors: creation, views and copies (memcpy of 0 bytes from a null pointer)") {
  TD e = TD::from_vector({}, Shape{0, 3});  // std::vector<double>{}.data() may be nullptr
  CHECK(e.numel() == 0);
  CHECK(e.to_vector().empty());
  CHECK(transpose(e, 0, 1).shape() == Shape{3, 0});
  CHECK(reshape(e, {3, 0}).same_storage(e));
  CHECK(clone(e).numel() == 0);
  CHECK(sum(e).item() == 0);
}
