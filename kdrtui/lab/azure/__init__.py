"""The lab's HTTPS Azure emulator: the ARM and Ambari endpoints kdrtui's provisioner calls.

It serves, on 127.0.0.1 over TLS (a ``trustme`` CA), resource groups, storage accounts, virtual
networks and their peerings, HDInsight Kafka clusters and their edge-node applications, long-running
operations and the Ambari REST API of each cluster. Creating a Kafka cluster starts a real lab Kafka
broker (:mod:`kdrtui.lab.cluster`); creating an edge-node application starts a lab SSH edge node
(:mod:`kdrtui.lab.edge`). See :class:`kdrtui.lab.azure.emulator.AzureEmulator`.

Nothing here imports an Azure SDK: only the tests drive the emulator with the real SDK clients.
"""
