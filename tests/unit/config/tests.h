/* tests.h - the groups of the config unit test executable. */
#ifndef GRANTD_TESTS_UNIT_CONFIG_TESTS_H
#define GRANTD_TESTS_UNIT_CONFIG_TESTS_H

int toml_tests(void);

#endif
