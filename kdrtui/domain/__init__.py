"""The pure core: the DR plan and the rules over it. No textual, asyncssh, azure or confluent_kafka here."""
