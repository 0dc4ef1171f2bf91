"""Training: the LightningModule, the trainer with its callbacks, and the recipes (pretrain, refit,
guarded fine-tune, self-supervised pretraining)."""
