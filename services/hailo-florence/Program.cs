return await Hailo.Hosting.ServiceHost.MainAsync(args, HailoFlorence.FlorenceService.Definition);
