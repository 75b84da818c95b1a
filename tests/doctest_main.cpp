// tests/doctest_main.cpp — doctest's main(), compiled once and linked into every test executable.
// Each tests/<folder>/test_<name>.cpp includes <doctest/doctest.h> and only defines TEST_CASEs.
#define DOCTEST_CONFIG_IMPLEMENT_WITH_MAIN
#include <doctest/doctest.h>
