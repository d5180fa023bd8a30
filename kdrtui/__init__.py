"""kdrtui: a terminal console for Apache Kafka disaster recovery on Azure HDInsight."""

__version__ = "0.1.0"
