"""Where panels come from: git repositories (commits, tags, README versions), OpenDigger exports,
and bulk builds of many repositories into partitioned Parquet."""
