"""The local rehearsal lab: two real single-node Apache Kafka clusters run from Maven Central jars.

``primary`` (eastus) and ``dr`` (westus2) stand in for two HDInsight Kafka clusters in peered VNets,
so the console, MirrorMaker and the failover runbooks can be rehearsed on one machine. Start with
:class:`kdrtui.lab.lab.Lab` or ``kdrtui lab up``.
"""
