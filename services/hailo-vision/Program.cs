return await Hailo.Hosting.ServiceHost.MainAsync(args, HailoVision.VisionService.Definition);
